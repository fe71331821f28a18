"""Amazon's marketplaces and the regions their Selling Partner API endpoints serve."""

#: Amazon marketplaces: code -> (sales channel, currency, time zone).
MARKETPLACES: dict[str, tuple[str, str, str]] = {
    "US": ("Amazon.com", "USD", "America/Los_Angeles"),
    "CA": ("Amazon.ca", "CAD", "America/Los_Angeles"),
    "MX": ("Amazon.com.mx", "MXN", "America/Mexico_City"),
    "UK": ("Amazon.co.uk", "GBP", "Europe/London"),
    "DE": ("Amazon.de", "EUR", "Europe/Berlin"),
    "FR": ("Amazon.fr", "EUR", "Europe/Paris"),
    "IT": ("Amazon.it", "EUR", "Europe/Rome"),
    "ES": ("Amazon.es", "EUR", "Europe/Madrid"),
    "JP": ("Amazon.co.jp", "JPY", "Asia/Tokyo"),
}
REGIONS = {"NA": {"US", "CA", "MX"}, "EU": {"UK", "DE", "FR", "IT", "ES"}, "FE": {"JP"}}
