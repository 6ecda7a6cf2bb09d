"""Rich renderers for people: one per result kind; the machine twins live in cognibill.report."""
