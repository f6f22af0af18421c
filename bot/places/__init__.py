"""Free places (vrije plaatsen) of childcare locations: store, search, import/export, geography."""
