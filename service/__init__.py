"""The answering service: FAQ first, then cited policy passages, refusal or hand-over."""
