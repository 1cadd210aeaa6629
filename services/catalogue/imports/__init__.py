"""Book imports: JSON lines, CSV and ONIX 3.0 files read into records, then upserted in one go.

`import_file` is the entry point for code (the staff import page, the CLI); `read_file`
only parses and validates, writing nothing.
"""
