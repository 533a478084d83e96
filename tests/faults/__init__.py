"""Cross-cutting fault, secrets and bad-input tests through the real engine and plugins."""
