"""Real data in: DICOM series, CT-RATE and TotalSegmentator masks into case folders that `preprocess` takes."""
