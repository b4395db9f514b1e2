"""Click command families, one module each, loaded lazily by ``dsobridge.cli``."""
