"""dualauth's own library: settings, IBM Cloud clients, event parsing and the enforcement use case."""
