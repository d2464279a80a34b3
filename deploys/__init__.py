"""pyinfra deploys: one package per component, and `site.py` that runs them in order."""
