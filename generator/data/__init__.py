"""Data: case folders (`cases`), model space (`model_space`), the training dataset (`dataset`), preprocessing of
real data (`preprocess`) and procedural chest-CT phantoms (`phantoms`, built from `anatomy`, `body`, `trees`,
`findings`, `reports`, `truth`)."""
