"""Models of this app are added by later work."""
