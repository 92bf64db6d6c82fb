# iface/: filled in by its issue
