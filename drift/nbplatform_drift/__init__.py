"""nbplatform's drift monitoring capability: monitors, checks, alerts, reports (``api/drift``)."""
