"""Code tables (代码表): the editable picklists behind every choice field."""
