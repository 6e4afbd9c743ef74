"""The parts the main screen is made of, one job each (see `ui/screens/main.py`)."""
