/* registry.c - the labs the grader knows, each registered by its own table
 * (GRADER_LAB in labN.c) before main() runs, kept in number order: the
 * order of constructors across files is the linker's, not the course's. */
#include <stdio.h>
#include <stdlib.h>

#include "grader.h"

enum { MAX_LABS = 32 };

static const struct lab *registered[MAX_LABS];
static size_t nregistered;

/* Runs before main(), where nothing can report an error: a table that
 * cannot be registered stops the grader rather than vanish from it, and a
 * copied table that kept its number is caught. */
void grader_register(const struct lab *lab)
{
	size_t i;

	if (nregistered == MAX_LABS) {
		fprintf(stderr, "grade: more than %d labs\n", MAX_LABS);
		abort();
	}
	for (i = nregistered; i > 0 && registered[i - 1]->number > lab->number;
	     i--)
		registered[i] = registered[i - 1];
	if (i > 0 && registered[i - 1]->number == lab->number) {
		fprintf(stderr, "grade: two tables for lab %d\n", lab->number);
		abort();
	}
	registered[i] = lab;
	nregistered++;
}

const struct lab *const *grader_labs(size_t *n)
{
	*n = nregistered;
	return registered;
}
