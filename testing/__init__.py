"""Support for the tests only: never imported by the service, the dev tools or the bench."""
