"""The monthly case-analysis report (``shopwatch report``): a month's numbers from the stats function behind
``GET /api/stats``, with the month before and the same month a year earlier, as one self-contained HTML page
(inline CSS, charts as inline SVG) or that page printed to PDF by headless Chromium."""
