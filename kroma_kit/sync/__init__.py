"""S3 sync of project roots: storage policy, push (incremental, resumable) and pull (verified)."""
