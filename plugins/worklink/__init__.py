"""worklink: linked participant warehouse for employment-and-health programmes."""
