"""Dialogue: feedback threads on datasets (questions, error reports, data and access
requests) that owners and suppliers answer, and each organisation's inbox."""
