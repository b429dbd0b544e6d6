"""The cloud path on one machine, for tests and `make rehearsal` only (never imported by the product):
local servers standing in for AWS (moto), the SpaceX API and Redshift (PostgreSQL), and a stand-in
that carries out EMR on EKS job runs."""
