"""Generated gRPC stubs of the wiretrace API (scripts/gen-proto), imported by the server
and the client alike: importing them loads nothing of the service."""
