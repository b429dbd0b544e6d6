"""Scale benchmark and the synthetic launches it (and `make sample`) generates; not shipped to EMR."""
