"""Signal processing: audio in and out, the spectral front end, the Wiener filter, the metrics."""
