"""The web app: a versioned JSON API and server-rendered pages over the services."""
