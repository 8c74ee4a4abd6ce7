"""Crime Predict forecasting engine: events, grid, counts, forecasters, backtest.

Pure NumPy/PyTorch; imports neither Django nor Celery (see docs/TEAM_NOTES.md).
"""

TARGET_CATEGORIES = (0, 1)  # PERSON, PROPERTY: the default forecast channels
