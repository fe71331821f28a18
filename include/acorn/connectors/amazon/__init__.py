"""Amazon Selling Partner API: LWA auth, the client and the payload mapper."""
