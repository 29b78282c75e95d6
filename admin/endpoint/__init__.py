"""The owner's Inference Endpoint (INFERENCE_ENDPOINT): state, pause, scale to zero, resume, replicas."""
