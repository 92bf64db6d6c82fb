# queue/: filled in by its issue
