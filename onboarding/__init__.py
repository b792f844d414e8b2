"""Producer register, assisted onboarding, consent, training and adoption reporting."""
