"""Where each synthetic walk starts: a realistic price level per symbol, so that what a
newcomer sees on the dashboard looks like a market (AAPL near 200, not 74).

Levels: US closing prices of Monday 2025-06-30, rounded to the dollar, as published in
public end-of-day market data (Nasdaq's and NYSE's daily closes). They were written down
by hand, not fetched: no market-data service is reachable from the build; they are
starting points of a random walk, not market data. A symbol not listed here starts
anywhere between $10 and $500.
"""
AS_OF = "2025-06-30"

USD = {
    "AAPL": 205, "MSFT": 497, "GOOG": 177, "AMZN": 219, "META": 738, "NVDA": 158, "TSLA": 318,
    "IBM": 295, "ORCL": 219, "INTC": 22, "AMD": 142, "CSCO": 69, "ADBE": 387, "CRM": 273,
    "NFLX": 1339, "PYPL": 74, "QCOM": 159, "TXN": 208, "AVGO": 276, "MU": 123,
    "JPM": 290, "BAC": 47, "WFC": 80, "GS": 708, "MS": 141, "C": 85, "V": 355, "MA": 562,
    "AXP": 319, "BRK.B": 486, "XOM": 108, "CVX": 143, "KO": 71, "PEP": 132, "WMT": 98,
    "COST": 990, "HD": 367, "MCD": 292, "NKE": 71, "DIS": 124, "PFE": 24, "MRK": 79,
    "JNJ": 153, "UNH": 312, "ABBV": 186, "LLY": 780, "T": 29, "VZ": 43, "BA": 210, "CAT": 388,
}
