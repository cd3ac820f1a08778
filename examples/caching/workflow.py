"""The design document's caching example: edit step1 and only step1 and step2 run again."""

from redun import task

redun_namespace = "examples.caching"


@task()
def step1(x: int):
    return x + 1


@task()
def step2(x: int):
    return x * 2


@task()
def main(x: int = 10):
    result1 = step1(x)
    result2 = step2(result1)
    return result2
