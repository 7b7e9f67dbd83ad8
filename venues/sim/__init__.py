"""The sim venue: paper trading, the venue contract over an in-process simex exchange
(venues/simex/). `config.py` (keys and the exchange settings they stand for),
`venue.py` (the contract), `convert.py` (exchange views -> perpd.model), `errors.py`
(refusal table), `streams.py` (exchange events -> async consumers)."""
