"""A sample file for trying OverFill Code."""


def mean(values):
    return sum(values) / len(values)


def variance(values):
    m = mean(values)
    
