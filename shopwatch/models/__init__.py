"""Detection: motion, person detector, tracker, zones and rules. Pure computation on frames; opens no sockets."""
