"""Who may do what on the cluster: principals, ACLs and SCRAM users derived from the directory."""
