"""The AWS platform of the SpaceX launches pipeline as a CDK app: per env, a data stack (network, buckets,
Glue database, Redshift Serverless, log group) and a cluster stack (the roles the EKS workloads assume,
Karpenter's AWS side, the EMR virtual cluster, the analyst and CI roles). Names come from conf/<env>.yaml."""
