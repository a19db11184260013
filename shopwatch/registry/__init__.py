"""The camera registry's import paths: merchant CSV files now, ONVIF onboarding later."""
