/* lab3.h - lab 3's checks that later labs run again. */
#ifndef LAB3_H
#define LAB3_H

#include "grader.h"

enum verdict lab3_idle_timeout(struct grader *g, const struct check *c,
                               struct result *r);
enum verdict lab3_sleep_1000(struct grader *g, const struct check *c,
                             struct result *r);

#endif
