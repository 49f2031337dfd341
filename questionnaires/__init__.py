"""The core app: clinics, clients, responses, scores, alerts and the plugin registry."""
