"""The integrity reporting and survey application: reporting, cases, dashboard, staff.

The application is built by ``integrity.app.create_app``; docs/development.md maps the packages.
"""
