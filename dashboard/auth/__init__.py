"""Front doors that authenticate machines: the registry token realm and notification receiver."""
