"""Email: rendering templates, building MIME messages, and handing them to a transport."""
