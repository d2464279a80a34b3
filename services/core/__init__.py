"""What the services share: names, the tick contract, settings, client factories."""
