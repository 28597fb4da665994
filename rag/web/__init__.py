"""The browser chat and JSON API around the core: page, routes, uploads, feedback."""
