"""The wiretrace service: domain logic (``reuse``), gRPC adapter (``grpc_app``), config."""
