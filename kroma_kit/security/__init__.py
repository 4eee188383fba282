"""Security services: encrypted project secrets and the key lookup providers fall back to."""
