"""Project bundles: export one project (catalog slice + files + metadata) and import it safely."""
