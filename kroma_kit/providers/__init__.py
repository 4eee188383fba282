"""Backends behind small protocols, registered by code name (see ``base``)."""
