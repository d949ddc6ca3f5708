"""One router per resource, each included by `web.app.create_app`."""
