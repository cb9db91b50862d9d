"""The agency directory: agencies, endpoints, groups, and recipient resolution."""
